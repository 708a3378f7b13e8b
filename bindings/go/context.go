package featureflags

import (
	"runtime"
	"unsafe"
)

// Context is the user being evaluated: an id (attribute "user_id") and typed
// attributes. It belongs to one goroutine at a time. Reuse one per goroutine with
// Reset: after warm-up, rebuilding it allocates nothing, in Go or in C.
//
// Evaluating with a nil or closed *Context serves the caller's default (reason
// ReasonError); for an anonymous user, use NewContext("").
type Context struct {
	// The C context, nil once closed. Read only by ptr, where the ffdebug lifetime
	// checks are, and Close.
	p unsafe.Pointer
}

// NewContext creates a context for userID; an invalid UTF-8 id is ErrInvalidArgument
// with the library's message (which says where). Like New, it loads the default library
// when none is loaded yet (ErrLoad, ErrIncompatibleLibrary).
func NewContext(userID string) (*Context, error) {
	if err := loaded(); err != nil {
		return nil, err
	}
	status, ptr, cerr := cContextCreate(userID)
	if err := check(status, cerr); err != nil {
		return nil, err
	}
	debugCreated(ptr)
	c := &Context{p: ptr}
	runtime.SetFinalizer(c, (*Context).Close)
	return c, nil
}

// Close frees the context; it is idempotent. Afterwards the setters return ErrClosed
// and evaluations with this context return the caller's default.
func (c *Context) Close() {
	if c.p != nil {
		runtime.SetFinalizer(c, nil)
		debugFreed(c.p)
		cContextFree(c.p)
		c.p = nil
	}
}

// Reset starts over for another user: the id is replaced and every attribute removed,
// keeping the buffers. On error the context is unchanged.
func (c *Context) Reset(userID string) error {
	ptr := c.ptr()
	if ptr == nil {
		return ErrClosed
	}
	err := check(cContextReset(ptr, userID))
	runtime.KeepAlive(c)
	return err
}

// SetString sets a string attribute, replacing any value of that name ("user_id"
// replaces the id). Invalid UTF-8 is ErrInvalidArgument.
func (c *Context) SetString(name, value string) error {
	ptr := c.ptr()
	if ptr == nil {
		return ErrClosed
	}
	err := check(cContextSetString(ptr, name, value))
	runtime.KeepAlive(c)
	return err
}

// SetNumber sets a number attribute; NaN and infinities are ErrInvalidArgument.
func (c *Context) SetNumber(name string, value float64) error {
	ptr := c.ptr()
	if ptr == nil {
		return ErrClosed
	}
	err := check(cContextSetNumber(ptr, name, value))
	runtime.KeepAlive(c)
	return err
}

// SetBool sets a boolean attribute.
func (c *Context) SetBool(name string, value bool) error {
	ptr := c.ptr()
	if ptr == nil {
		return ErrClosed
	}
	err := check(cContextSetBool(ptr, name, value))
	runtime.KeepAlive(c)
	return err
}

// cptr returns the C context to evaluate with: NULL for a nil or closed *Context, which
// the C evaluation functions answer with the caller's default and FF_REASON_ERROR.
func cptr(c *Context) unsafe.Pointer {
	if c == nil {
		return nil
	}
	return c.ptr()
}

// ptr returns the C context, nil once closed. Every C call on the context takes the
// pointer from here, so that the ffdebug lifetime check (debugCheck) covers each one;
// the caller keeps c alive with runtime.KeepAlive until C is done with the pointer.
func (c *Context) ptr() unsafe.Pointer {
	p := c.p
	debugCheck(p)
	return p
}
