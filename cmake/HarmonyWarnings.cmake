# Shared INTERFACE targets: link them instead of repeating flags per target.

add_library(harmony_warnings INTERFACE)
target_compile_options(harmony_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
  -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough)
if(HARMONY_DEV_MODE)
  target_compile_options(harmony_warnings INTERFACE -Werror)
endif()

# What dpkg-buildflags gives with hardening=+all; lintian checks for it.
add_library(harmony_hardening INTERFACE)
target_compile_options(harmony_hardening INTERFACE
  -fstack-protector-strong -Werror=format-security
  $<$<NOT:$<CONFIG:Debug>>:-D_FORTIFY_SOURCE=2>)
target_link_options(harmony_hardening INTERFACE -Wl,-z,relro -Wl,-z,now)

# The lean binaries (the dispatcher, later the agent daemon) start often and
# must start fast: every shared library on their path costs start-up time.
# Unused sections are dropped so fewer relocations run at start-up.
add_library(harmony_lean_runtime INTERFACE)
target_link_options(harmony_lean_runtime INTERFACE -Wl,--gc-sections)
if(HARMONY_STATIC_RUNTIME)
  target_link_options(harmony_lean_runtime INTERFACE -static-libstdc++ -static-libgcc)
endif()
