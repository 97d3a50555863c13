/**
 * What a password must be: 12 to 1024 characters (argon2 hashes every byte: a megabyte password
 * would be a cheap way to burn the server's CPU), not the account's email or its local part, not
 * one character repeated, and not one of the passwords every guessing list starts with.
 */
const COMMON = new Set([
  '123456789012',
  '1234567890123',
  '12345678901234',
  '123456123456',
  '123123123123',
  '1q2w3e4r5t6y',
  '1qaz2wsx3edc',
  'qwertyuiopas',
  'qwertyuiop12',
  'qwerty123456',
  'qwertyqwerty',
  'asdfghjkl123',
  'zxcvbnm12345',
  'password1234',
  'password123!',
  'passwordpassword',
  'password12345',
  'p@ssw0rd1234',
  'p@ssword1234',
  'iloveyou1234',
  'letmein12345',
  'welcome12345',
  'welcome123456',
  'changeme1234',
  'changemenow!',
  'administrator',
  'admin1234567',
  'abcdefghijkl',
  'abc123abc123',
  'trustno1trustno1',
  'football1234',
  'baseball1234',
  'sunshine1234',
  'princess1234',
  'superman1234',
  'monkey123456',
  'dragon123456',
]);

/**
 * Why `password` is refused for the account with `email`, or undefined when it may be used.
 *
 * @example
 * ```ts
 * passwordProblem('password1234', 'ops@acme.example'); // 'password is one of the most common passwords: …'
 * ```
 */
export function passwordProblem(password: string, email: string): string | undefined {
  if ([...password].length < 12) return 'password must have at least 12 characters';
  if (password.length > 1024) return 'password must have at most 1024 characters';
  const lower = password.toLowerCase();
  const address = email.toLowerCase();
  if (lower === address || lower === address.split('@')[0]) return 'password must not be the email address';
  if (new Set(password).size === 1) return 'password must not be one character repeated';
  if (COMMON.has(lower)) return 'password is one of the most common passwords: choose another';
  return undefined;
}
