// Counts heap allocations made by this process (the C++ code and libfeatureflags.so,
// whose Rust allocator calls malloc) by interposing glibc's malloc family. Include it in
// exactly one translation unit of an executable, never in a sanitized build (the
// sanitizers interpose malloc themselves). Test and benchmark code only.
#ifndef FEATUREFLAGS_COUNT_ALLOCS_HPP
#define FEATUREFLAGS_COUNT_ALLOCS_HPP

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>

extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
}

namespace count_allocs {
inline std::atomic<std::uint64_t> allocations{0};
inline std::uint64_t now() noexcept { return allocations.load(std::memory_order_relaxed); }
inline void add() noexcept { allocations.fetch_add(1, std::memory_order_relaxed); }
}  // namespace count_allocs

extern "C" {
void* malloc(std::size_t n) noexcept {
  count_allocs::add();
  return __libc_malloc(n);
}
void* calloc(std::size_t n, std::size_t size) noexcept {
  count_allocs::add();
  return __libc_calloc(n, size);
}
void* realloc(void* p, std::size_t n) noexcept {
  count_allocs::add();
  return __libc_realloc(p, n);
}
int posix_memalign(void** out, std::size_t align, std::size_t n) noexcept {
  count_allocs::add();
  void* p = __libc_memalign(align, n);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}
void* aligned_alloc(std::size_t align, std::size_t n) noexcept {
  count_allocs::add();
  return __libc_memalign(align, n);
}
void* memalign(std::size_t align, std::size_t n) noexcept {
  count_allocs::add();
  return __libc_memalign(align, n);
}
}

#endif  // FEATUREFLAGS_COUNT_ALLOCS_HPP
