// Catch2 glue for tests that need the shared control plane.
// PODID_CONTROL_PLANE_OR_SKIP(cp) declares `cp`; when the binaries are missing it WARNs "SKIPPED: ..."
// and returns from the test case (CTest reports the binary as skipped through podid_controlplane_test());
// when they exist but the control plane failed to start, the test FAILs with the reason.
#pragma once

#include <catch2/catch.hpp>

#include "support/control_plane.hpp"

#define PODID_CONTROL_PLANE_OR_SKIP(cp)                                          \
  ::podid::testing::ControlPlane* cp = ::podid::testing::ControlPlane::shared(); \
  if (cp == nullptr) {                                                           \
    if (::podid::testing::ControlPlane::binaries_missing()) {                    \
      WARN("SKIPPED: " << ::podid::testing::ControlPlane::unavailable_reason()); \
      return;                                                                    \
    }                                                                            \
    FAIL(::podid::testing::ControlPlane::unavailable_reason());                  \
  }                                                                              \
  static_cast<void>(cp)
