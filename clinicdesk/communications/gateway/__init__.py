"""The local SMS gateway: a small implementation of the hosted provider's HTTP API (Twilio's Programmable
Messaging, 2010-04-01) for the embedded setup, the demo and the tests. See `numbers` for its test numbers."""
