// The QEMU boot helper lives with the scripts (the nightly uses it too).
export * from '../../scripts/qemu-boot.js';
