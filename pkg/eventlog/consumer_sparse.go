package eventlog

import "golang.org/x/mod/semver"

// sparse reports whether this life of the consumer has the broker deliver only its Types: it
// is configured so, and the connected server checks each tenant's sequence on publish (2.11),
// so the stream holds every tenant's log without holes and a filtered delivery misses nothing
// of it. Asked per life, since a reconnect may land on another server.
func (c *Consumer) sparse() bool {
	if !c.cfg.Sparse { // with Types: validate refuses a sparse consumer without
		return false
	}
	v := c.js.Conn().ConnectedServerVersion()
	if v == "" {
		return false // not connected: the full delivery is safe, and this life fails anyway
	}
	if semver.Compare("v"+v, minTenantCheckVersion) < 0 {
		c.log.Warn("nats-server is older than 2.11: a sparse consumer receives every event", "server_version", v)
		return false
	}
	return true
}

// filters returns the durable's subject filters: the events of Tenants (empty: every tenant),
// and only those of Types when sparse.
func (c *Consumer) filters(sparse bool) []string {
	tenants := c.cfg.Tenants
	if len(tenants) == 0 {
		tenants = []string{"*"}
	}
	var out []string
	for _, t := range tenants {
		if !sparse {
			out = append(out, TenantFilter(t, c.cfg.Service))
			continue
		}
		for _, typ := range c.cfg.Types {
			out = append(out, Subject(t, c.cfg.Service, typ))
		}
	}
	return out
}
