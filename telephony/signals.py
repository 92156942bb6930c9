"""What telephony tells the apps above it (connected in their `AppConfig.ready()`).

- `message_received(sender=Message, message)`: an inbound SMS or WhatsApp message was stored for a clinic
  (sent once per provider message id: a replayed webhook does not send it again... unless the first attempt
  failed before it was recorded).
"""
from django.dispatch import Signal

message_received = Signal()
