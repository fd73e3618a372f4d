variable "iso_filename" {
  description = "The ISO's file name in the Vultr library, as `npx vultr-sid-iso publish --json` prints it (filename), e.g. vultr-sid-0123456789ab.iso."
  type        = string
  default     = ""
}

variable "iso_id" {
  description = "Or the ISO's id (publish --json's isoId); when set, iso_filename is not looked up."
  type        = string
  default     = ""
}

variable "region" {
  description = "Vultr region id."
  type        = string
  default     = "ewr"
}

variable "plan" {
  description = "Vultr plan id."
  type        = string
  default     = "vc2-1c-2gb"
}

variable "dual_stack_count" {
  description = "How many VMs with public IPv4 and IPv6."
  type        = number
  default     = 2
}

variable "ipv6_only_count" {
  description = "How many VMs with public IPv6 only."
  type        = number
  default     = 1
}

variable "ssh_key_ids" {
  description = "Vultr SSH key ids, added to the admin user on first boot."
  type        = list(string)
  default     = []
}
