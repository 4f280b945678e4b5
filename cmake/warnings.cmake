# Warnings for our own code, through one interface target every podid target links privately.
add_library(podid_warnings INTERFACE)
target_compile_options(podid_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow -Wnon-virtual-dtor
  -Wold-style-cast -Woverloaded-virtual -Wnull-dereference -Wdouble-promotion -Wformat=2
  -Werror=unused-result -Werror=return-type)
if(PODID_WERROR)
  # GCC 12's maybe-uninitialized misfires inside libstdc++ (std::regex, std::function) at -O1 and above,
  # which the sanitizer presets use; it stays a warning.
  target_compile_options(podid_warnings INTERFACE -Werror -Wno-error=maybe-uninitialized)
endif()
add_library(podid::warnings ALIAS podid_warnings)
