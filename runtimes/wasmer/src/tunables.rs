//! The memory cap, as Wasmer tunables.
//!
//! Every linear memory an instance defines gets its maximum lowered to the
//! cap (or set to it when the module declares none) before Wasmer creates it.
//! Wasmer then refuses to grow past that maximum, and `memory.grow` returns
//! `-1` to the guest, as the Wasm spec says, instead of a host error. A module
//! whose *minimum* is above the cap fails to instantiate. Everything else is
//! Wasmer's own [`BaseTunables`].

use std::ptr::NonNull;

use wasmer::sys::vm::{VMConfig, VMMemory, VMMemoryDefinition, VMTable, VMTableDefinition};
use wasmer::sys::{BaseTunables, Tunables};
use wasmer::{MemoryError, MemoryStyle, MemoryType, Pages, TableStyle, TableType};

/// [`BaseTunables`] with every memory capped at `cap` pages.
pub(crate) struct CappedTunables {
    base: BaseTunables,
    cap: Pages,
}

impl CappedTunables {
    pub(crate) fn new(cap_pages: u32) -> Self {
        Self {
            base: BaseTunables::new(),
            cap: Pages(cap_pages),
        }
    }

    /// The memory type Wasmer creates instead of `requested`.
    fn capped(&self, requested: &MemoryType) -> Result<MemoryType, MemoryError> {
        if requested.minimum > self.cap {
            return Err(MemoryError::MinimumMemoryTooLarge {
                min_requested: requested.minimum,
                max_allowed: self.cap,
            });
        }
        let mut ty = *requested;
        ty.maximum = Some(requested.maximum.map_or(self.cap, |max| max.min(self.cap)));
        Ok(ty)
    }
}

impl Tunables for CappedTunables {
    fn memory_style(&self, memory: &MemoryType) -> MemoryStyle {
        self.base.memory_style(memory)
    }

    fn table_style(&self, table: &TableType) -> TableStyle {
        self.base.table_style(table)
    }

    fn create_host_memory(&self, ty: &MemoryType, style: &MemoryStyle) -> Result<VMMemory, MemoryError> {
        self.base.create_host_memory(&self.capped(ty)?, style)
    }

    unsafe fn create_vm_memory(
        &self,
        ty: &MemoryType,
        style: &MemoryStyle,
        vm_definition_location: NonNull<VMMemoryDefinition>,
    ) -> Result<VMMemory, MemoryError> {
        let ty = self.capped(ty)?;
        // SAFETY: forwarded unchanged; the caller upholds the trait's contract.
        unsafe { self.base.create_vm_memory(&ty, style, vm_definition_location) }
    }

    fn create_host_table(&self, ty: &TableType, style: &TableStyle) -> Result<VMTable, String> {
        self.base.create_host_table(ty, style)
    }

    unsafe fn create_vm_table(
        &self,
        ty: &TableType,
        style: &TableStyle,
        vm_definition_location: NonNull<VMTableDefinition>,
    ) -> Result<VMTable, String> {
        // SAFETY: forwarded unchanged; the caller upholds the trait's contract.
        unsafe { self.base.create_vm_table(ty, style, vm_definition_location) }
    }

    fn vmconfig(&self) -> &VMConfig {
        self.base.vmconfig()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_the_maximum_and_refuses_a_larger_minimum() {
        let t = CappedTunables::new(16);
        let cap = |min: u32, max: Option<u32>| t.capped(&MemoryType::new(min, max, false));
        assert_eq!(cap(1, None).unwrap().maximum, Some(Pages(16)));
        assert_eq!(cap(1, Some(8)).unwrap().maximum, Some(Pages(8)));
        assert_eq!(cap(1, Some(100)).unwrap().maximum, Some(Pages(16)));
        assert_eq!(cap(16, None).unwrap().minimum, Pages(16));
        assert!(matches!(
            cap(17, None),
            Err(MemoryError::MinimumMemoryTooLarge { .. })
        ));
    }
}
