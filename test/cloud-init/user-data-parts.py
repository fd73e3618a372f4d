"""How Debian's cloud-init splits a user-data blob: its own UserDataProcessor, as on first boot.

usage: user-data-parts.py FILE

Prints JSON: one entry per part cloud-init hands to a part handler, with the content type it
decided on, the file name a script gets, and the payload (base64).
"""
import base64
import json
import sys
import tempfile

from cloudinit import helpers, user_data

with open(sys.argv[1], "rb") as f:
    blob = f.read()
with tempfile.TemporaryDirectory() as tmp:
    paths = helpers.Paths({"cloud_dir": tmp, "run_dir": tmp})
    message = user_data.UserDataProcessor(paths).process(blob)
parts = []
for part in message.walk():
    if part.get_content_maintype() == "multipart":
        continue
    parts.append({
        "type": part.get_content_type(),
        "filename": part.get_filename(),
        "payload": base64.b64encode(part.get_payload(decode=True) or b"").decode(),
    })
print(json.dumps(parts))
