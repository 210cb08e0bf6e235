// Drives CAINode 1.2.2's group-chat calls; prints one JSON object with what it got
// (run by tests/conformance/test_cainode_rooms.py through to_emulator.mjs).
import { CAINode } from "cainode";

const [c1, c2, c3] = process.env.CAI_CHARACTERS.split(",");
const out = {};
const client = new CAINode();
out.login = await client.login(process.env.CAI_TOKEN);
out.list_before = await client.group_chat.list();
const room = await client.group_chat.create("From CAINode", [c1, c2]);
out.create = room;
out.connect = await client.group_chat.connect(room.id);
try {
  await client.group_chat.send_message("hello");  // broken in 1.2.2 (cainode.md 5.8)
  out.send_message = "sent";
} catch (e) {
  out.send_message = `threw ${e.name}`;
}
out.reset = await client.group_chat.reset_conversation();
out.select = await client.group_chat.select_turn(c2);
out.smart = await client.group_chat.generate_turn();
out.regenerate = await client.group_chat.generate_turn_candidate(
  out.select.push.pub.data.turn.turn_key.turn_id, c2);
out.rename = await client.group_chat.rename("Renamed by CAINode", room.id);
out.char_add = await client.group_chat.char_add(c3);
out.turns = await client.chat.history_chat_turns(room.id);
out.disconnect = await client.group_chat.disconnect();
out.list_after_rename = await client.group_chat.list();
out.delete = await client.group_chat.delete(room.id);
out.list_after = await client.group_chat.list();
await client.logout();
console.log(JSON.stringify(out));
process.exit(0);
