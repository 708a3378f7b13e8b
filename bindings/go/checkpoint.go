package featureflags

import (
	"runtime"
	"sync"
	"time"
)

// Checkpoint writes what a durable engine (Options.StatePath) counted since its last
// checkpoint to the state file in one transaction: experiment exposures and totals,
// tallies, funnels, time series and the audit trail. A crash loses at most what was
// counted after the last checkpoint that returned nil; a failed one (ErrIO, e.g. a full
// disk) loses nothing, the next one writes it. Evaluation and tracking go on meanwhile.
// Without a state file it does nothing.
func (e *Engine) Checkpoint() error {
	ptr, err := e.handle()
	if err != nil {
		return err
	}
	err = check(cEngineCheckpoint(ptr))
	runtime.KeepAlive(e)
	return err
}

// Checkpointer calls Engine.Checkpoint in the background; see StartCheckpointing.
type Checkpointer struct {
	engine   *Engine
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
	mu       sync.Mutex
	lastErr  error
	finalErr error
}

// StartCheckpointing starts a goroutine that calls Checkpoint every interval, and once
// more when the checkpointer stops: on Stop or on the engine's Close, whichever comes
// first. The interval is what a crash can cost in counts. An engine has at most one:
// starting another stops the previous one first.
func (e *Engine) StartCheckpointing(every time.Duration) *Checkpointer {
	c := &Checkpointer{engine: e, stop: make(chan struct{}), done: make(chan struct{})}
	if previous := e.checkpointer.Swap(c); previous != nil {
		previous.Stop()
	}
	go c.run(every)
	return c
}

func (c *Checkpointer) run(every time.Duration) {
	defer close(c.done)
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	for {
		select {
		case <-ticker.C:
			err := c.engine.Checkpoint()
			c.mu.Lock()
			c.lastErr = err
			c.mu.Unlock()
		case <-c.stop:
			return
		}
	}
}

// Err is the error of the most recent background checkpoint (nil after a good one).
func (c *Checkpointer) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastErr
}

// Stop stops the goroutine, waits for it, and checkpoints once more; it returns that
// checkpoint's error. Idempotent: later calls return the same error.
func (c *Checkpointer) Stop() error {
	c.stopOnce.Do(func() {
		close(c.stop)
		<-c.done
		c.engine.checkpointer.CompareAndSwap(c, nil)
		c.finalErr = c.engine.Checkpoint()
	})
	return c.finalErr
}
