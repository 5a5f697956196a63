// ldns for C++: include this instead of <ldns/ldns.h>. Without <stdbool.h> first, ldns/common.h
// defines `bool`, `true` and `false` as macros (true is then the int 1), which breaks the C++ that
// follows in the same translation unit (the unity build puts several files in one).
#pragma once

// clang-format off
#include <stdbool.h>  // NOLINT(modernize-deprecated-headers): sets __bool_true_false_are_defined
#include <ldns/ldns.h>
// clang-format on
