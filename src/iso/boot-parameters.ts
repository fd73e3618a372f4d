// Kernel command-line parameters our boot entries pass to the installer, and that the
// installer scripts look for.

/** Lets the data-loss guard partition a disk that already holds a system (the ERASING entry). */
export const WIPE_PARAMETER = 'vultr-sid-iso/wipe=true';
