// The admin's QR posters: server-rendered; shared header and a print stylesheet.
import '../lib/page.js';
import '../resident/posters.css';
