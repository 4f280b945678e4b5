# Warnings for our own code, through one interface target every podid target links privately.
add_library(podid_warnings INTERFACE)
target_compile_options(podid_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow -Wnon-virtual-dtor
  -Wold-style-cast -Woverloaded-virtual -Wnull-dereference -Wdouble-promotion -Wformat=2
  -Werror=unused-result -Werror=return-type)
if(PODID_WERROR)
  # GCC 12 misfires at -O1 and above, which the sanitizer presets use: maybe-uninitialized inside libstdc++
  # (std::regex, std::function), and mismatched-new-delete on every Asio coroutine frame (awaitable_frame_base
  # has its own operator new/delete). Both stay warnings.
  target_compile_options(podid_warnings INTERFACE -Werror -Wno-error=maybe-uninitialized
    -Wno-error=mismatched-new-delete)
endif()
add_library(podid::warnings ALIAS podid_warnings)
