// The drivers that ship with netctl, registered by name.
#pragma once

#include "cnm/core/driver.h"

namespace drivers {

// A registry holding bridge, host and null.
cnm::Registry builtin_registry();

}  // namespace drivers
