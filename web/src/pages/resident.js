// The residents' pages (解纷码) work without any script: this entry only builds their stylesheet
// (dist/resident.css), which the templates link directly.
import '../resident/resident.css';
