package natsx

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nkeys"
)

// DefaultTenantTTL is how long a tenant credential lasts unless asked otherwise.
const DefaultTenantTTL = 90 * 24 * time.Hour

// tenantMaxSubs bounds an outside subscriber's subscriptions: a few subjects are all it needs,
// and the bound keeps one client from loading the servers.
const tenantMaxSubs = 100

// TenantSubjects is the subject filter of a tenant's events, "huiyuan.<tenant>.>": all a tenant
// credential may subscribe to besides its inbox.
func TenantSubjects(tenant string) string { return "huiyuan." + tenant + ".>" }

// TenantIssuer issues credentials for outside subscribers of one tenant's events (a CRM, a data
// pipeline, nats.js in a browser). It holds a signing key of the HUIYUAN account whose scope,
// fixed in the account JWT, gives every user it signs the same permissions: subscribe to
// huiyuan.<tenant>.> and its own inbox, publish nothing. The tenant comes from the user's
// "tenant:" tag. So the iam process, which holds this key and no other, can issue tenant
// credentials and nothing stronger.
//
// Tenant credentials have no JetStream access: JetStream's API is published to, and its
// permissions see subjects, not the request; a consumer's configuration (its deliver subject,
// for one) would let a tenant make the server publish for it. Tenants replay history through
// the ListEvents API instead, which authorises by tenant.
type TenantIssuer struct {
	account string        // the HUIYUAN account's public key, the users' issuer account
	signer  nkeys.KeyPair // the scoped signing key
	pub     string
}

func newTenantIssuer(account string, signer nkeys.KeyPair) (*TenantIssuer, error) {
	if !nkeys.IsValidPublicAccountKey(account) {
		return nil, fmt.Errorf("natsx: tenant issuer: %q is not an account public key", account)
	}
	pub, err := signer.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("natsx: tenant issuer: %w", err)
	}
	if !nkeys.IsValidPublicAccountKey(pub) {
		return nil, fmt.Errorf("natsx: tenant issuer: the signing key is not an account key")
	}
	return &TenantIssuer{account: account, signer: signer, pub: pub}, nil
}

// scope is the signing key's scope in the account JWT: the one template of every tenant user's
// permissions. An absent tag expands to an invalid subject, which the server drops, leaving the
// user unable to subscribe at all.
func (ti *TenantIssuer) scope() *jwt.UserScope {
	s := jwt.NewUserScope()
	s.Key = ti.pub
	s.Role = "tenant-subscriber"
	s.Description = "outside subscribers: read-only, one tenant's events"
	s.Template.Sub.Allow.Add(TenantSubjects("{{tag(tenant)}}"), inboxPrefix("{{subject()}}")+".>")
	s.Template.Pub.Deny.Add(">")
	s.Template.Subs = tenantMaxSubs
	// No leaf nodes (which may subscribe more broadly than their permissions) and no MQTT.
	s.Template.AllowedConnectionTypes.Add(jwt.ConnectionTypeStandard, jwt.ConnectionTypeWebsocket)
	return s
}

// IssueTenant issues a credential that reads tenant's events until expires. It returns an
// error when tenant is not one subject token of [a-z0-9_-] (tenant ids are narrower still) or
// expires is zero: a tenant credential always ends.
func (ti *TenantIssuer) IssueTenant(tenant string, expires time.Time) (*Credential, error) {
	if !ValidToken(tenant) {
		return nil, fmt.Errorf("natsx: tenant credential: invalid tenant %q", tenant)
	}
	if expires.IsZero() {
		return nil, fmt.Errorf("natsx: tenant credential for %s: no expiry", tenant)
	}
	user, pub, err := newUser()
	if err != nil {
		return nil, fmt.Errorf("natsx: tenant credential: %w", err)
	}
	uc := jwt.NewUserClaims(pub)
	uc.SetScoped(true) // no permissions of its own: the scope's template applies
	uc.IssuerAccount = ti.account
	uc.Name = "tenant:" + tenant
	uc.Tags.Add("tenant:" + tenant)
	uc.Expires = expires.Unix()
	token, err := uc.Encode(ti.signer)
	if err != nil {
		return nil, fmt.Errorf("natsx: sign tenant credential for %s: %w", tenant, err)
	}
	return newCredential(token, user)
}

// tenantIssuerFile is the on-disk form of a TenantIssuer.
type tenantIssuerFile struct {
	Account string `json:"account"`
	Signer  string `json:"signing_key_seed"`
}

// WriteFile saves the issuer to path (mode 0600) for an iam process of its own
// (LoadTenantIssuer). It holds a secret: the scoped signing key's seed.
func (ti *TenantIssuer) WriteFile(path string) error {
	seed, err := ti.signer.Seed()
	if err != nil {
		return fmt.Errorf("natsx: tenant issuer: %w", err)
	}
	raw, err := json.MarshalIndent(tenantIssuerFile{Account: ti.account, Signer: string(seed)}, "", "  ")
	if err != nil {
		return fmt.Errorf("natsx: tenant issuer: %w", err)
	}
	return WriteSecretFile(path, append(raw, '\n'))
}

// LoadTenantIssuer reads an issuer saved by WriteFile.
func LoadTenantIssuer(path string) (*TenantIssuer, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("natsx: tenant issuer: %w", err)
	}
	var f tenantIssuerFile
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("natsx: tenant issuer %s: %w", path, err)
	}
	signer, err := keyFromSeed(f.Signer, nkeys.PrefixByteAccount)
	if err != nil {
		return nil, fmt.Errorf("natsx: tenant issuer %s: %w", path, err)
	}
	ti, err := newTenantIssuer(f.Account, signer)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return ti, nil
}
