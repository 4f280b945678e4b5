# Warnings for our own code, through one interface target every podid target links privately.
add_library(podid_warnings INTERFACE)
target_compile_options(podid_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow -Wnon-virtual-dtor
  -Wold-style-cast -Woverloaded-virtual -Wnull-dereference -Wdouble-promotion -Wformat=2
  -Werror=unused-result -Werror=return-type)
if(PODID_WERROR)
  target_compile_options(podid_warnings INTERFACE -Werror)
endif()
add_library(podid::warnings ALIAS podid_warnings)
