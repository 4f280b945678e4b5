# podid_add_test(<name> SOURCES ... [LIBS ...] [LABELS ...] [TIMEOUT s])
# One executable per test binary, registered as one CTest test so that an integration binary starts its
# control plane once. Labels: unit, integration, root, slow.
function(podid_add_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE podid_test_main ${T_LIBS} podid::warnings)
  add_test(NAME ${name} COMMAND ${name} --use-colour no --durations yes)
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 600)
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT}
    ENVIRONMENT "PODID_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endfunction()
