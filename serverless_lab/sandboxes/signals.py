from django.dispatch import Signal

# Sent after a sandbox's database rows were wiped, so that apps can drop what lives outside the
# database (object bytes in storage, warm execution environments). Arguments: sandbox.
sandbox_reset = Signal()
