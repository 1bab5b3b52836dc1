"""Intent and slot names of the skill: the interaction model and the handlers share these."""

from __future__ import annotations

# Request types (Alexa's, not ours).
LAUNCH_REQUEST = "LaunchRequest"
SESSION_ENDED_REQUEST = "SessionEndedRequest"

# The free-speech intent and its AMAZON.SearchQuery slot.
CHAT = "ChatIntent"
UTTERANCE_SLOT = "utterance"
UTTERANCE_SLOT_TYPE = "AMAZON.SearchQuery"

# Built-in intents the skill answers itself.
HELP = "AMAZON.HelpIntent"
CANCEL = "AMAZON.CancelIntent"
STOP = "AMAZON.StopIntent"
YES = "AMAZON.YesIntent"
NO = "AMAZON.NoIntent"
FALLBACK = "AMAZON.FallbackIntent"
NAVIGATE_HOME = "AMAZON.NavigateHomeIntent"

BUILT_IN = (HELP, CANCEL, STOP, YES, NO, FALLBACK, NAVIGATE_HOME)
ALL_INTENTS = (CHAT, *BUILT_IN)

# The invocation name (two lowercase words, as the ASK certification rules want).
INVOCATION_NAME = "pip companion"
