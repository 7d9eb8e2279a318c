package boltstore

// SetNoEvents makes the store skip the event log, for the benchmark that measures its cost.
func (s *Store) SetNoEvents(v bool) { s.noEvents = v }
