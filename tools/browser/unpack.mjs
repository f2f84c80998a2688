// Unpacks the Chromium that @sparticuz/chromium carries (brotli-compressed in the package) and
// prints {"executable": ..., "args": [...]} for tools/browser.py. The package unpacks into the
// OS temporary folder; tools/browser.py points TMPDIR at .tools/browser so it stays with the
// project.
import chromium from "@sparticuz/chromium";

// The package's flags are for AWS Lambda. Playwright sets the headless mode itself; a test must
// not run with web security lowered, or it could pass where a person's browser fails; and in
// one process, closing a browser context ends the whole browser.
const DROPPED = /^--(headless|disable-web-security|allow-running-insecure-content|single-process)/;

const executable = await chromium.executablePath();
const args = chromium.args.filter((arg) => !DROPPED.test(arg));
process.stdout.write(JSON.stringify({ executable, args }) + "\n");
