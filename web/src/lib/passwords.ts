// Choosing a new password (reset link, profile): the token of an emailed link and the checks made before sending.

/** The server's rule (auth PASSWORD_MIN_LENGTH), checked here first for a clear message. */
export const PASSWORD_MIN_LENGTH = 8;

/**
 * The token of a reset link, `<origin>/reset-password#token=<token>`, from `location.hash` (with or without its
 * `#`); null when there is none. The token is in the fragment so that it never reaches a server log or a Referer.
 */
export function resetTokenFromHash(hash: string): string | null {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const token = params.get("token")?.trim() ?? "";
  return token === "" ? null : token;
}

export type NewPasswordProblem = "short" | "mismatch";

/** What is wrong with a new password and its repetition, or null: too short first, then not repeated exactly. */
export function newPasswordProblem(password: string, repeat: string): NewPasswordProblem | null {
  if (password.length < PASSWORD_MIN_LENGTH) return "short";
  if (password !== repeat) return "mismatch";
  return null;
}
