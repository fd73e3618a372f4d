# What `npx vultr-sid-iso vm create --json` reports per VM, from Vultr's view. The containers'
# /80 is the first /80 of v6_network unless it holds v6_main_ip (then the second): the VM's
# boot program picks it (docs/networking.md).
output "vms" {
  value = [
    for vm in concat(vultr_instance.dual_stack, vultr_instance.ipv6_only) : {
      id              = vm.id
      label           = vm.label
      main_ip         = vm.main_ip
      v6_main_ip      = vm.v6_main_ip
      v6_network      = vm.v6_network
      v6_network_size = vm.v6_network_size
    }
  ]
}

# The command that frees the library slot once the VMs are installed (vm detach waits while
# Vultr has a VM locked, and leaves a VM with no ISO alone).
output "detach_commands" {
  value = [for vm in concat(vultr_instance.dual_stack, vultr_instance.ipv6_only) : "npx vultr-sid-iso vm detach ${vm.id}"]
}
