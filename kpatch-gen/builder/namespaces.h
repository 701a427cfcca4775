// SPDX-License-Identifier: GPL-2.0-only
//
// Symbol namespaces the live patch module must import. A symbol exported with
// EXPORT_SYMBOL_NS_GPL(to_cxl_port, CXL) may only be used by a module that says
// MODULE_IMPORT_NS(CXL); modpost refuses the link otherwise ("module fix_cxl_region uses symbol
// to_cxl_port from namespace CXL, but does not import it"). The patched unit's own imports are
// not enough: they live in whichever unit of the original module wrote them (for cxl_core,
// drivers/cxl/core/port.c), and a unit built into vmlinux needs none at all.
#pragma once
#include <string>
#include <vector>

#include "diff/target.h"

namespace kpg::build {

// The namespaces (sorted, unique) of the exported symbols among `undefined` (the names the
// diff objects leave undefined: DiffResult::output.undefined), as Module.symvers records them
// (its fourth column).
std::vector<std::string> imported_namespaces(const std::vector<std::string> &undefined, const diff::Symvers &symvers);

} // namespace kpg::build
