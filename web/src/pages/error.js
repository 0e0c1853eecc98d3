import '../lib/page.js';
