"""cloud-init's own first-boot pipeline on a target tree, up to the merged configuration.

usage: first-boot.py TARGET

TARGET holds etc/cloud (the distribution's cloud.cfg plus the cloud.cfg.d drop-ins) and
var/lib/cloud/seed/nocloud, as the installer leaves them. This runs the real datasource
search (datasource_list), fetches Vultr's metadata where the datasource finds it, stores and
processes user-data and vendor-data, and merges the configuration the modules would get; it
stops before the modules run, because they would change this machine's users and SSH setup.
Prints JSON: the datasource, the SSH keys it supplies, the default user and the settings the
users, SSH and hostname modules act on.
"""
import json
import os
import sys

from cloudinit import sources, stages, util
from cloudinit.config.modules import Modules
from cloudinit.distros import ug_util
from cloudinit.settings import PER_INSTANCE

target = sys.argv[1]
# Read the target's configuration, not this machine's.
stages.CLOUD_CONFIG = os.path.join(target, "etc/cloud/cloud.cfg")
stages.RUN_CLOUD_CONFIG = os.path.join(target, "run/cloud-init/cloud.cfg")

# The init-local stage's search (filesystem datasources: Vultr and NoCloud both are); the
# network stage then restores the datasource it found from the instance cache.
init = stages.Init(ds_deps=[sources.DEP_FILESYSTEM])
init.read_cfg()
init.initialize()
init.fetch()
init.instancify()
init.setup_datasource()
init.update()
init.consume_data(PER_INSTANCE)

cfg = Modules(init).cfg
users, _groups = ug_util.normalize_users_groups(cfg, init.distro)
default_user, default_user_config = ug_util.extract_default(users)
names = util.get_hostname_fqdn(cfg, init.cloudify())
vendor_config = init.paths.get_ipath_cur("vendor_cloud_config")

print(
    json.dumps(
        {
            "datasource": init.datasource.dsname,
            "instanceId": init.datasource.get_instance_id(),
            "publicKeys": init.datasource.get_public_ssh_keys(),
            "defaultUser": default_user,
            "defaultUserConfig": default_user_config,
            "users": sorted(users),
            "disableRoot": cfg.get("disable_root"),
            "sshPwauth": cfg.get("ssh_pwauth"),
            "sshDeletekeys": cfg.get("ssh_deletekeys"),
            "chpasswd": cfg.get("chpasswd"),
            "runcmd": cfg.get("runcmd"),
            "hostname": names.hostname,
            "fqdn": names.fqdn,
            "vendorConfigStored": os.path.exists(vendor_config)
            and os.path.getsize(vendor_config) > 0,
        },
        default=str,
    )
)
