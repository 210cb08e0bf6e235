// Scenarios run by tests/conformance/test_cainode.py: CAINode 1.2.2, unmodified, against the
// emulator (started with `node --import ./to_emulator.mjs scenarios.mjs NAME`). Each scenario
// prints one JSON object with what the client returned; the Python test checks it against the
// emulator's state. Every call is bounded (CAINode itself has no timeouts on most waits).
import { CAINode } from "cainode";

const TOKEN = process.env.CAI_TOKEN;
const CHAR = process.env.CAI_CHARACTER;
const out = {};

function bounded(promise, ms = 10000) {
  return Promise.race([promise, new Promise((_, rej) => setTimeout(() => rej(new Error("timed out")), ms))]);
}

async function step(name, fn) {
  try {
    out[name] = await bounded(Promise.resolve().then(fn));
  } catch (e) {
    out[name] = { error: String((e && e.message) || e) };
  }
  return out[name];
}

const scenarios = {
  async bad_token(client) {
    await step("login", () => client.login("0000000000000000000000000000000000000000"));
  },

  async dm(client) {
    await step("login", () => client.login(TOKEN));
    await step("connect", () => client.character.connect(CHAR));
    const sent = await step("send", () => client.character.send_message("Hello from CAINode"));
    const turn = sent.turn;
    await step("regenerate", () => client.character.generate_turn_candidate(turn.turn_key.turn_id));
    await step("edit", () =>
      client.character.edit_message(turn.candidates[0].candidate_id, turn.turn_key.turn_id, "edited by CAINode"));
    await step("pin", () => client.chat.pin_message(turn.turn_key.turn_id));
    await step("pinned", () => client.chat.list_pinned_message(turn.turn_key.chat_id));
    await step("history", () => client.chat.history_chat_turns());
    await step("info", () => client.chat.conversation_info(turn.turn_key.chat_id));
    await step("conversations", () => client.chat.history_conversation_list());
    await step("rename", () => client.chat.rename_conversation(turn.turn_key.chat_id, "Renamed by CAINode"));
    await step("copy", () => client.chat.duplicate_conversation(turn.turn_key.chat_id, turn.turn_key.turn_id));
    await step("tts", () =>
      client.character.replay_tts(turn.turn_key.turn_id, turn.candidates[0].candidate_id, process.env.CAI_VOICE));
    const second = await step("send_again", () => client.character.send_message("Second message"));
    await step("delete", () => client.character.delete_message(second.turn.turn_key.turn_id));
    await step("archive", () => client.chat.archive_conversation(turn.turn_key.chat_id, true));
    await step("unarchive", () => client.chat.archive_conversation(turn.turn_key.chat_id, false));
    await step("resume", () => client.chat.set_conversation_chat(turn.turn_key.chat_id));
    await step("new_chat", () => client.character.create_new_conversation(true));
    await step("new_chat_quiet", () => client.character.create_new_conversation(false));
    await step("disconnect", () => client.character.disconnect());
    await step("logout", () => client.logout());
  },

  async manual(client) {
    await step("login", () => client.login(TOKEN));
    await step("connect", () => client.character.connect(CHAR));
    await step("manual", () => client.character.send_message("A turn without a reply", true));
    await step("generate", () => client.character.generate_turn());
    await step("history", () => client.chat.history_chat_turns());
    await step("logout", () => client.logout());
  },

  async account(client) {
    await step("login", () => client.login(TOKEN));
    await step("me", () => client.user.info);
    await step("change_info", () => client.user.change_info("", "Alice Node", "", "bio from node"));
    await step("public_info", () => client.user.public_info("bob"));
    await step("public_info_array", () => client.user.public_info_array(["bob", "carol"]));
    await step("search_creator", () => client.user.search("carol"));
    await step("following", () => client.user.public_following_list("alice"));
    await step("followers", () => client.user.public_followers_list("carol"));
    await step("following_names", () => client.user.following_list_name());
    await step("liked", () => client.user.liked_character_list());
    await step("mute_add", () => client.user.add_muted_words("alpha beta"));
    await step("mute_remove", () => client.user.remove_muted_words("alpha"));
    await step("muted_after", () => [...client.user.settings.outputStylePreferences.bannedWords]);
    await step("persona_create", () => client.persona.create("NodePersona", "A persona made by CAINode"));
    const pid = out.persona_create && out.persona_create.persona && out.persona_create.persona.external_id;
    await step("persona_info", () => client.persona.info(pid));
    await step("persona_update", () => client.persona.update(pid, "NodePersona2", "Updated by CAINode"));
    await step("persona_default", () => client.persona.set_default(pid));
    await step("persona_character", () => client.persona.set_character(CHAR, pid));
    await step("settings_after_personas", () => client.user.refresh_settings().then(() => client.user.settings));
    await step("persona_list", () => client.persona.list());
    await step("votes", () => client.character.votes(CHAR));
    await step("votes_array", () => client.character.votes_array([CHAR]));
    await step("vote", () => client.character.vote(CHAR, true));
    await step("info", () => client.character.info(CHAR));
    await step("suggest", () => client.character.search_suggest("Ada"));
    await step("categories_of", () => client.character.get_category(CHAR));
    await step("current_voice", () => client.character.current_voice(CHAR));
    await step("featured", () => client.explore.featured());
    await step("for_you", () => client.explore.for_you());
    await step("similar", () => client.explore.simillar_char(CHAR));
    await step("curated", () => client.explore.character_categories());
    await step("featured_voices", () => client.explore.featured_voices());
    await step("voice_info", () => client.voice.info(process.env.CAI_VOICE));
    await step("voice_search", () => client.voice.search("Calm"));
    await step("image", () => client.image.generate_image("a lighthouse"));
    await step("avatar_options", () => client.image.generate_avatar("a lighthouse"));
    await step("logout", () => client.logout());
  },
};

const name = process.argv[2];
if (!scenarios[name]) throw new Error(`unknown scenario ${name}`);
process.on("uncaughtException", (e) => { out.uncaught = String((e && e.message) || e); });
const client = new CAINode();
await scenarios[name](client);
process.stdout.write(JSON.stringify(out) + "\n");
process.exit(0);
