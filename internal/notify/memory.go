package notify

import (
	"context"
	"sync"
)

// Memory keeps messages in memory; tests use it to read what was sent.
type Memory struct {
	mu   sync.Mutex
	msgs []Rendered
	Fail error // when set, Send fails with it
}

// Send records m.
func (m *Memory) Send(ctx context.Context, r Rendered) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.Fail != nil {
		return m.Fail
	}
	m.msgs = append(m.msgs, r)
	return nil
}

// Sent returns every message sent so far.
func (m *Memory) Sent() []Rendered {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Rendered(nil), m.msgs...)
}

// Last returns the newest message to recipient.
func (m *Memory) Last(to string) (Rendered, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.msgs) - 1; i >= 0; i-- {
		if m.msgs[i].To == to {
			return m.msgs[i], true
		}
	}
	return Rendered{}, false
}
