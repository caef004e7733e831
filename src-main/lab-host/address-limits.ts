/**
 * Per client address: how many connections it holds and how fast it sends KMS requests. One client (or one
 * address of a hostile network) must not be able to take every connection slot or fill the log at full speed
 * while others wait: past `maxConnections` its new connections are refused at once, and past its request rate
 * (a token bucket: `requestsPerSecond` a second, bursts of twice that) its connection is closed unanswered.
 *
 * Bounded whatever clients do: an address is remembered while it has connections, and of the others only the
 * `maxTracked` most recently seen.
 */

interface AddressState {
  connections: number
  tokens: number
  /** when the tokens were last topped up, ms (performance.now) */
  at: number
}

export class AddressLimits {
  private readonly entries = new Map<string, AddressState>()
  private readonly burst: number

  constructor(
    private readonly maxConnections: number,
    /** 0 = no request-rate limit */
    private readonly requestsPerSecond: number,
    private readonly now: () => number = () => performance.now(),
    private readonly maxTracked = 4096
  ) {
    this.burst = 2 * requestsPerSecond
  }

  /** Registers a new connection from `address`; false (and nothing registered) when it already holds its share. */
  tryOpen(address: string): boolean {
    const state = this.state(address)
    if (state.connections >= this.maxConnections) return false
    state.connections++
    return true
  }

  /** Connections `address` holds now. */
  connections(address: string): number {
    return this.entries.get(address)?.connections ?? 0
  }

  closed(address: string): void {
    const state = this.entries.get(address)
    if (state && state.connections > 0) state.connections--
  }

  /** Takes one request token of `address`; false when it has none left. */
  admitCall(address: string): boolean {
    if (this.requestsPerSecond === 0) return true
    const state = this.state(address)
    const t = this.now()
    state.tokens = Math.min(this.burst, state.tokens + ((t - state.at) * this.requestsPerSecond) / 1000)
    state.at = t
    if (state.tokens < 1) return false
    state.tokens -= 1
    return true
  }

  private state(address: string): AddressState {
    let state = this.entries.get(address)
    if (state) {
      // most recently seen last, so the oldest idle ones are found first when forgetting
      this.entries.delete(address)
    } else {
      state = { connections: 0, tokens: this.burst, at: this.now() }
      this.forgetIdle()
    }
    this.entries.set(address, state)
    return state
  }

  private forgetIdle(): void {
    if (this.entries.size < this.maxTracked) return
    for (const [address, state] of this.entries) {
      if (state.connections === 0) {
        this.entries.delete(address)
        if (this.entries.size < this.maxTracked) return
      }
    }
  }
}
