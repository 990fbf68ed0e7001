# Cross-compiling for 64-bit Arm Debian (arm64) with Debian's cross toolchain
# (crossbuild-essential-arm64) and a sysroot of arm64 packages unpacked with
# dpkg -x. scripts/build-arm64 makes the sysroot and uses this file:
#
#   cmake -S . -B build-arm64 -G Ninja \
#     -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake \
#     -DHARMONY_SYSROOT=<sysroot> -DHARMONY_AGENT_ONLY=ON
#
# The compiler brings its own libc and libstdc++ (/usr/aarch64-linux-gnu);
# every other header, library, CMake package and .pc file comes from the
# sysroot only, never from the host's /usr, whose amd64 files would compile
# and then fail to link, or worse, link.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
# find_package looks in <prefix>/lib/<this>/cmake; CMake does not derive it
# from a cross compiler's search paths.
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

# try_compile projects read this file again without the cache: pass it on.
if(NOT HARMONY_SYSROOT AND DEFINED ENV{HARMONY_SYSROOT})
  set(HARMONY_SYSROOT "$ENV{HARMONY_SYSROOT}")
endif()
if(NOT HARMONY_SYSROOT OR NOT IS_DIRECTORY "${HARMONY_SYSROOT}/usr/lib/aarch64-linux-gnu")
  message(FATAL_ERROR "aarch64-linux-gnu.cmake: HARMONY_SYSROOT ('${HARMONY_SYSROOT}') is not an arm64 sysroot; "
                      "scripts/build-arm64 makes one and passes it")
endif()
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES HARMONY_SYSROOT)

set(CMAKE_FIND_ROOT_PATH "${HARMONY_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)   # build tools run here: the host's
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# The linker must resolve what the sysroot's libraries need in turn (libnats
# needs libssl and libprotobuf-c) without those being on the command line.
foreach(dir usr/lib/aarch64-linux-gnu lib/aarch64-linux-gnu)
  string(APPEND CMAKE_EXE_LINKER_FLAGS_INIT " -Wl,-rpath-link,${HARMONY_SYSROOT}/${dir}")
  string(APPEND CMAKE_SHARED_LINKER_FLAGS_INIT " -Wl,-rpath-link,${HARMONY_SYSROOT}/${dir}")
endforeach()

# pkg-config (libnats): the sysroot's .pc files, their paths moved into it.
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${HARMONY_SYSROOT}")
set(ENV{PKG_CONFIG_LIBDIR} "${HARMONY_SYSROOT}/usr/lib/aarch64-linux-gnu/pkgconfig:${HARMONY_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

# What the build runs of its own output (Catch's test discovery, ctest)
# runs under qemu-user, against the sysroot's loader and libraries: the
# sysroot holds arm64 libc, libstdc++ and every library the agent needs
# (qemu-user: scripts/debian-packages.txt).
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L "${HARMONY_SYSROOT}")
