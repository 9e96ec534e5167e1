// The parts of CodeMirror 6 Serverless Lab uses, re-exported from one ES module.
export { basicSetup, minimalSetup } from "codemirror";
export { EditorView, keymap } from "@codemirror/view";
export { EditorState, Compartment } from "@codemirror/state";
export { indentWithTab } from "@codemirror/commands";
export { python } from "@codemirror/lang-python";
export { javascript } from "@codemirror/lang-javascript";
export { indentUnit } from "@codemirror/language";
