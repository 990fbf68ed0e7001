#pragma once
// `expected<T>`: the result of a fallible operation below the command layer.
// tl::expected (Debian's libexpected-dev) is header-only, so the base library
// still needs nothing but the C++ standard library and libc at run time.

#include <tl/expected.hpp>

#include <harmony/base/error.hpp>

namespace harmony::base {

template <class T, class E = Error>
using expected = tl::expected<T, E>;

using tl::unexpected;

inline unexpected<Error> fail(Error error) { return unexpected<Error>(std::move(error)); }

}  // namespace harmony::base
