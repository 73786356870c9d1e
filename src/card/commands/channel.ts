import { defineInsTable, type InsTable } from '../dispatch.js';

export const CHANNEL_COMMANDS: InsTable = defineInsTable();
