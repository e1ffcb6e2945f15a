from ..gateway.models import GatewayMessage
from .campaigns import Campaign
from .letters import Letter, Letterhead, Signature
from .outbox import ActionLink, InboundMessage, Message, MessageAttachment, MessageEvent
from .teamwork import StaffTask, TaskNote
from .templates import MessageTemplate, TemplateVersion

__all__ = [
    "ActionLink",
    "Campaign",
    "GatewayMessage",
    "InboundMessage",
    "Letter",
    "Letterhead",
    "Message",
    "MessageAttachment",
    "MessageEvent",
    "MessageTemplate",
    "Signature",
    "StaffTask",
    "TaskNote",
    "TemplateVersion",
]
