// Svelte 5 compiles `<script lang="ts">` natively; no preprocessors are needed.
export default {}
