// Stylesheets imported for esbuild, which bundles them into app.css; they export nothing.
declare module '*.css';
