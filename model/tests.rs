// SPDX-License-Identifier: GPL-2.0

//! Unit tests of the model, one or more per mirrored C branch.

