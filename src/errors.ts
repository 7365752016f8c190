/**
 * The small error hierarchy every layer uses. Each error carries a stable `code`
 * (tests and users match on it, never on the message), e.g. `PPP_ERR_TRUNCATED`,
 * `L2TP_ERR_HIDDEN_AVP_LENGTH`, `CONFIG_ERR_INVALID_VALUE`.
 */
export class CulvertError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A wire format could not be decoded or encoded: truncated, oversized, or malformed. */
export class CodecError extends CulvertError {}

/** A protocol rule was broken by the peer (not a decoding failure). */
export class ProtocolError extends CulvertError {}

/** A bad command or configuration value; the message names the field and what it accepts. */
export class ConfigError extends CulvertError {}

/** The operating system refused something (missing capability, device busy, ...). */
export class IoError extends CulvertError {}
