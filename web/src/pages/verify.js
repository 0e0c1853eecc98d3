// The public verification page is rendered on the server (no login, works without scripts); this
// entry only brings the shared styles and the language switch.
import '../lib/page.js';
import '../documents/documents.css';
