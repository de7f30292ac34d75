"""What Discord sends back for the bot's modals and buttons: a MODAL_SUBMIT interaction's data
built from the modal the bot answered with (a type 9 callback), and a button press on a message
the fake holds. Used with ``FakeDiscord.interaction_payload`` (kind 5 and kind 3)."""

from __future__ import annotations

from typing import Any

from tests.fakes.discord_api import FakeDiscord, Seen

MODAL = 9
MODAL_SUBMIT = 5
COMPONENT = 3
LABEL, ACTION_ROW, BUTTON, TEXT_INPUT, CHANNEL_SELECT = 18, 1, 2, 4, 8


def inputs(modal: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The modal's inputs by custom_id (inside their Label or action row)."""
    found = {}
    for row in modal["components"]:
        inner = row["component"] if row["type"] == LABEL else row["components"][0]
        found[inner["custom_id"]] = inner
    return found


def prefilled(component: dict[str, Any]) -> str | list[str]:
    """What an input holds when the user changes nothing: its value, or its default choices."""
    if component["type"] == TEXT_INPUT:
        return str(component.get("value", ""))
    defaults = [str(d["id"]) for d in component.get("default_values", [])]
    options = [o["value"] for o in component.get("options", []) if o.get("default")]
    return defaults or options


def modal_submit(
    fake: FakeDiscord, modal: dict[str, Any], values: dict[str, str | list[str]]
) -> dict[str, Any]:
    """The ``data`` of a MODAL_SUBMIT for ``modal`` with ``values`` typed or picked by
    custom_id (the other inputs keep what they were pre-filled with); chosen channels come
    with their ``resolved`` entries, as Discord sends them."""
    components: list[dict[str, Any]] = []
    channels: dict[str, Any] = {}
    for row in modal["components"]:
        inner = row["component"] if row["type"] == LABEL else row["components"][0]
        value = values.get(inner["custom_id"], prefilled(inner))
        sent: dict[str, Any] = {"type": inner["type"], "custom_id": inner["custom_id"]}
        if inner["type"] == TEXT_INPUT:
            sent["value"] = value
        else:
            sent["values"] = list(value)
        if inner["type"] == CHANNEL_SELECT:
            for channel_id in value:
                channels[channel_id] = {
                    "id": channel_id,
                    "name": f"channel-{channel_id[-4:]}",
                    "type": fake.channels.get(int(channel_id), {}).get("type", 0),
                    "permissions": str((1 << 53) - 1),
                    "guild_id": str(fake.guild_id),
                }
        if row["type"] == LABEL:
            components.append({"type": LABEL, "id": row.get("id", 0), "component": sent})
        else:
            components.append({"type": ACTION_ROW, "components": [sent]})
    data: dict[str, Any] = {"custom_id": modal["custom_id"], "components": components}
    if channels:
        data["resolved"] = {"channels": channels}
    return data


def buttons(message: dict[str, Any]) -> dict[str, str]:
    """The message's buttons, label to custom_id."""
    return {
        b["label"]: b.get("custom_id", "")
        for row in message.get("components", [])
        for b in row.get("components", [])
        if b["type"] == BUTTON
    }


def press(label: str, message: dict[str, Any]) -> dict[str, Any]:
    """The ``data`` of a press of the button labelled ``label`` under ``message``."""
    return {"custom_id": buttons(message)[label], "component_type": BUTTON}


def message_of(fake: FakeDiscord, answer: Seen) -> dict[str, Any]:
    """The message the fake holds for an answer that created or edited one (a callback of
    type 4, a follow-up, an edit of ``@original``), as a later interaction carries it."""
    body = answer.body["data"] if "data" in answer.body else answer.body
    for message in reversed(list(fake.messages.values())):
        if message["embeds"] == body.get("embeds", []) and message["components"] == body.get(
            "components", []
        ):
            return message
    raise AssertionError(f"no message for {answer.route}")
