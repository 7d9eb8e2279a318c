package boltstore

// SetScanLimit lets tests see List stop early on a sparse filter.
func (s *Store) SetScanLimit(n int) { s.scanLimit = n }
