// The records one action or one login session writes, across lines: a login writes an authentication, an account
// check, a session open and close… as separate records (audit user messages, auth log lines). A decoder keeps a
// StoryTracker so that every event of one story carries the same metadata.correlation_uid, and a later record can use
// what an earlier one said (the account an sshd attempt is for, its source address). Keys are the decoder's
// (audit: login session `ses`, else the pid; auth logs: host, program and pid, or sshd's client address and port).

export interface Story {
  /** metadata.correlation_uid of every event of the story. */
  readonly uid: string;
  /** Record time (ms) of the story's latest record. */
  last: number;
  /** A session was opened in the story: it lasts until it is closed, however long the gap between its records. */
  sessionOpen: boolean;
  /** Facts earlier records stated (audit: `acct`, `addr`, `hostname`, `exe`, `terminal`). */
  readonly facts: Record<string, string>;
}

/** A story without an open session ends this long (record time) after its last record: an action's records come
 * within seconds (a failed login within sshd's LoginGraceTime), and a reused pid must not join an old story. */
const IDLE_MS = 10 * 60_000;

export class StoryTracker {
  /** Stories by key, least recently used first. */
  private readonly stories = new Map<string, Story>();

  constructor(private readonly maxKeys = 4096) {}

  /** The open story under `key` at record time `time`, if any. */
  find(key: string, time: number): Story | undefined {
    const story = this.stories.get(key);
    if (!story) return undefined;
    if (!story.sessionOpen && time - story.last > IDLE_MS) {
      this.stories.delete(key);
      return undefined;
    }
    return story;
  }

  /** A new story, under `key`. */
  start(key: string, uid: string, time: number): Story {
    const story: Story = { uid, last: time, sessionOpen: false, facts: {} };
    this.bind(key, story);
    return story;
  }

  /** Files `story` under one more key (or refreshes it), and records `time` as its latest. */
  bind(key: string, story: Story, time = story.last): void {
    if (time > story.last) story.last = time;
    this.stories.delete(key);
    this.stories.set(key, story);
    if (this.stories.size > this.maxKeys) this.stories.delete(this.stories.keys().next().value as string);
  }

  /** The story under `key` is over (a session closed): a later record with that key starts another. */
  end(key: string): void {
    this.stories.delete(key);
  }
}
