// Kernel command-line parameters the rendered installer scripts look for, and that our boot
// entries (src/iso/boot-menus.ts) pass to the installer. They belong to the scripts, so they
// live beside their rendering: the ISO layer packs what render produces, never the reverse.

/** Lets the data-loss guard partition a disk that already holds a system (the ERASING entry). */
export const WIPE_PARAMETER = 'vultr-sid-iso/wipe=true';
