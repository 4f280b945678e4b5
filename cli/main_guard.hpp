#pragma once
// The main() of each shipped binary: errors are values in this code base, so anything thrown past `run` is a
// bug; it is reported on stderr with the program's name and exit code 1 rather than left to std::terminate.

#include <exception>
#include <iostream>

namespace podid::cli {

template <class Run>
int guarded_main(const char* program, Run&& run) {
  try {
    return run();
  } catch (const std::exception& e) {
    std::cerr << program << ": unexpected exception: " << e.what() << '\n';
  } catch (...) {
    std::cerr << program << ": unexpected exception\n";
  }
  return 1;
}

}  // namespace podid::cli
