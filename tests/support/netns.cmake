# podid_test_netns: the network-namespace harness for root tests (tests/support/netns.hpp).
# Included by tests/CMakeLists.txt (or tests/support/CMakeLists.txt); paths are relative to this file.
add_library(podid_test_netns STATIC ${CMAKE_CURRENT_LIST_DIR}/netns.cpp)
target_include_directories(podid_test_netns PUBLIC ${PROJECT_SOURCE_DIR} ${PROJECT_SOURCE_DIR}/tests)
target_link_libraries(podid_test_netns PUBLIC podid::iptables podid::core Threads::Threads PRIVATE podid::warnings)
