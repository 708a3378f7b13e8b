package featureflags

/*
#include "featureflags.h"

typedef struct { ff_status status; ff_error *err; } ff_go_result;

typedef struct { ff_status status; ff_context *context; ff_error *err; } ff_go_created_context;

static inline ff_go_created_context ff_go_context_create(const char *id, size_t len) {
    ff_go_created_context r = {FF_STATUS_OK, NULL, NULL};
    r.status = ff_context_create(id, len, &r.context, &r.err);
    return r;
}

// The ff_error out-parameter lives in C, so no Go pointer escapes to the heap and the
// setters allocate nothing.
static inline ff_go_result ff_go_reset(ff_context *c, const char *id, size_t len) {
    ff_go_result r = {FF_STATUS_OK, NULL};
    r.status = ff_context_reset(c, id, len, &r.err);
    return r;
}
static inline ff_go_result ff_go_set_string(ff_context *c, const char *n, size_t nl, const char *v, size_t vl) {
    ff_go_result r = {FF_STATUS_OK, NULL};
    r.status = ff_context_set_string(c, n, nl, v, vl, &r.err);
    return r;
}
static inline ff_go_result ff_go_set_number(ff_context *c, const char *n, size_t nl, double v) {
    ff_go_result r = {FF_STATUS_OK, NULL};
    r.status = ff_context_set_number(c, n, nl, v, &r.err);
    return r;
}
static inline ff_go_result ff_go_set_bool(ff_context *c, const char *n, size_t nl, bool v) {
    ff_go_result r = {FF_STATUS_OK, NULL};
    r.status = ff_context_set_bool(c, n, nl, v, &r.err);
    return r;
}
*/
import "C"

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
	p *C.ff_context
}

// NewContext creates a context for userID; an invalid UTF-8 id is ErrInvalidArgument
// with the library's message (which says where). Like New, it loads the default library
// when none is loaded yet (ErrLoad, ErrIncompatibleLibrary).
func NewContext(userID string) (*Context, error) {
	if err := loaded(); err != nil {
		return nil, err
	}
	p, l := str(userID)
	r := C.ff_go_context_create(p, l)
	runtime.KeepAlive(userID)
	if err := check(r.status, r.err); err != nil {
		return nil, err
	}
	debugCreated(unsafe.Pointer(r.context))
	c := &Context{p: r.context}
	runtime.SetFinalizer(c, (*Context).Close)
	return c, nil
}

// Close frees the context; it is idempotent. Afterwards the setters return ErrClosed
// and evaluations with this context return the caller's default.
func (c *Context) Close() {
	if c.p != nil {
		runtime.SetFinalizer(c, nil)
		debugFreed(unsafe.Pointer(c.p))
		C.ff_context_free(c.p)
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
	p, l := str(userID)
	r := C.ff_go_reset(ptr, p, l)
	err := check(r.status, r.err)
	runtime.KeepAlive(userID)
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
	np, nl := str(name)
	vp, vl := str(value)
	r := C.ff_go_set_string(ptr, np, nl, vp, vl)
	err := check(r.status, r.err)
	runtime.KeepAlive(name)
	runtime.KeepAlive(value)
	runtime.KeepAlive(c)
	return err
}

// SetNumber sets a number attribute; NaN and infinities are ErrInvalidArgument.
func (c *Context) SetNumber(name string, value float64) error {
	ptr := c.ptr()
	if ptr == nil {
		return ErrClosed
	}
	np, nl := str(name)
	r := C.ff_go_set_number(ptr, np, nl, C.double(value))
	err := check(r.status, r.err)
	runtime.KeepAlive(name)
	runtime.KeepAlive(c)
	return err
}

// SetBool sets a boolean attribute.
func (c *Context) SetBool(name string, value bool) error {
	ptr := c.ptr()
	if ptr == nil {
		return ErrClosed
	}
	np, nl := str(name)
	r := C.ff_go_set_bool(ptr, np, nl, C.bool(value))
	err := check(r.status, r.err)
	runtime.KeepAlive(name)
	runtime.KeepAlive(c)
	return err
}

// cptr returns the C context to evaluate with: NULL for a nil or closed *Context, which
// the C evaluation functions answer with the caller's default and FF_REASON_ERROR.
func cptr(c *Context) *C.ff_context {
	if c == nil {
		return nil
	}
	return c.ptr()
}

// ptr returns the C context, nil once closed. Every C call on the context takes the
// pointer from here, so that the ffdebug lifetime check (debugCheck) covers each one;
// the caller keeps c alive with runtime.KeepAlive until C is done with the pointer.
func (c *Context) ptr() *C.ff_context {
	p := c.p
	debugCheck(unsafe.Pointer(p))
	return p
}
